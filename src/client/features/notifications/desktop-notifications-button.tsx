import { useDesktopPermission } from './desktop-notifications.ts';

/** Asks for the permission only when clicked: never on page load. */
export function DesktopNotificationsButton() {
  const { permission, request } = useDesktopPermission();
  switch (permission) {
    case 'unsupported':
      return null;
    case 'granted':
      return <span className="muted small">Desktop notifications on</span>;
    case 'denied':
      return <span className="muted small">Desktop notifications blocked in browser settings</span>;
    case 'default':
      return (
        <button type="button" className="link-button" onClick={request}>
          Enable desktop notifications
        </button>
      );
  }
}
