import { useState } from 'react';
import type { Notification as PulseNotification } from '../../../shared/schemas/notifications.ts';

export type DesktopPermission = NotificationPermission | 'unsupported';

const supported = () => typeof window !== 'undefined' && 'Notification' in window;

/**
 * The desktop-notification permission, and the way to ask for it. Browsers (and users) only
 * tolerate the prompt as the answer to a click, so `request` must only run from one.
 */
export function useDesktopPermission(): { permission: DesktopPermission; request: () => void } {
  const [permission, setPermission] = useState<DesktopPermission>(() =>
    supported() ? window.Notification.permission : 'unsupported',
  );
  const request = () => {
    if (!supported()) return;
    void window.Notification.requestPermission().then(setPermission);
  };
  return { permission, request };
}

/**
 * Shows a live arrival on the desktop while this tab is hidden. `showHere` says whether this
 * tab is the one that speaks for the browser (the stream leader), so five tabs make one
 * notification; the tag folds any duplicate that slips through (a leader change) into one.
 */
export function showDesktopNotification(notification: PulseNotification, showHere: boolean): void {
  if (!showHere || !supported() || window.Notification.permission !== 'granted') return;
  if (document.visibilityState !== 'hidden') return;
  const shown = new window.Notification(notification.title, {
    body: notification.body,
    tag: notification.id,
  });
  shown.onclick = () => {
    window.focus();
    shown.close();
  };
}
