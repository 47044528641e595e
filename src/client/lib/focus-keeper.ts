/**
 * Keeps keyboard focus from falling to the page body when what held it goes away: a "mark read"
 * button that disappears once read, an incident card that moves to another column when
 * acknowledged (React mounts it anew there), the sign-in form replaced by the app.
 *
 * It remembers the item that held focus (its nearest element with a `data-id`: a notification,
 * an incident, an alert rule) and, when focus is lost (the focused element left the document),
 * gives it to that item where it is now (its first control, or the item itself), else to the
 * page's `<main>`. It never moves focus the user put somewhere: only focus that was lost.
 */
const CONTROLS = 'a[href], button:not([disabled]), input, select, textarea, [tabindex]';

export function startFocusKeeper(doc: Document = document): () => void {
  /** The `data-id` of the item that last held focus, and what in it did. */
  let lastItem: string | null = null;
  let lastTarget: Element | null = null;

  const lost = () =>
    (doc.activeElement === null || doc.activeElement === doc.body) &&
    lastTarget !== null &&
    !lastTarget.isConnected;

  const rescue = () => {
    if (!lost()) return;
    const item =
      lastItem === null
        ? null
        : doc.querySelector<HTMLElement>(`[data-id="${CSS.escape(lastItem)}"]`);
    lastTarget = null;
    if (item) return focusInside(item);
    const main = doc.querySelector<HTMLElement>('main');
    if (main) focusItself(main);
  };

  const onFocusIn = (event: FocusEvent) => {
    if (!(event.target instanceof Element)) return;
    lastTarget = event.target;
    lastItem = event.target.closest('[data-id]')?.getAttribute('data-id') ?? null;
  };

  doc.addEventListener('focusin', onFocusIn);
  // Removals come in mutations; a check is one comparison when nothing was lost.
  const observer = new MutationObserver(rescue);
  observer.observe(doc.body, { childList: true, subtree: true });
  // The app itself just replaced what held focus (the sign-in form): start on its page.
  if (doc.activeElement === null || doc.activeElement === doc.body) {
    const main = doc.querySelector<HTMLElement>('main');
    if (main) focusItself(main);
  }
  return () => {
    doc.removeEventListener('focusin', onFocusIn);
    observer.disconnect();
  };
}

function focusInside(item: HTMLElement): void {
  const control = item.querySelector<HTMLElement>(CONTROLS);
  if (control) control.focus();
  else focusItself(item);
}

/** Focuses an element that is not a control (a page, an item), without a focus ring for mice. */
function focusItself(el: HTMLElement): void {
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: true });
}
