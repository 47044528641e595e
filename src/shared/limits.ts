/** Limits shared by the server's validation and the UI's forms. */
export const USERNAME_MAX = 40;
export const PASSWORD_MIN = 4;
export const PASSWORD_MAX = 200;
export const DISPLAY_NAME_MAX = 100;
export const TEAM_NAME_MAX = 60;
export const TOKEN_NAME_MAX = 100;

export const NOTIFICATION_TITLE_MAX = 200;
export const NOTIFICATION_BODY_MAX = 2000;
export const NOTIFICATION_LINK_MAX = 2000;
export const NOTIFICATION_PAGE_DEFAULT = 20;
export const NOTIFICATION_PAGE_MAX = 100;
/** Recipients one `notifications.send` may name explicitly. */
export const NOTIFICATION_RECIPIENTS_MAX = 1000;
