import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { usePath } from '../../lib/router.ts';

/**
 * What the top bar folds away on a phone: on a wide screen its children sit in the bar as they
 * are (the toggle is hidden); below 720 px a Menu button shows them as a panel under the bar.
 * The panel closes on Escape (focus back on the button), when focus leaves it, and when the page
 * changes.
 */
export function HeaderMenu({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const id = useId();
  const path = usePath();

  // A page opened from the menu closes it.
  const [shownPath, setShownPath] = useState(path);
  if (shownPath !== path) {
    setShownPath(path);
    setOpen(false);
  }

  useEffect(() => {
    if (!open) return;
    panel.current?.querySelector<HTMLElement>('a, button')?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      toggle.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open]);

  return (
    <>
      <button
        ref={toggle}
        type="button"
        className="menu-toggle"
        aria-expanded={open}
        aria-controls={id}
        data-testid="menu-toggle"
        onClick={() => setOpen((was) => !was)}
      >
        <span className="menu-toggle__bars" aria-hidden="true" />
        <span className="menu-toggle__text">Menu</span>
      </button>
      <div
        ref={panel}
        id={id}
        className="topbar__menu"
        data-open={open}
        onBlur={(event) => {
          const next = event.relatedTarget as Node | null;
          if (next && !panel.current?.contains(next) && next !== toggle.current) setOpen(false);
        }}
      >
        {children}
      </div>
    </>
  );
}
