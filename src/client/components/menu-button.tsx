import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

export interface MenuButtonProps {
  /** The trigger's text. */
  label: ReactNode;
  /** The trigger's accessible name, when its text alone would be ambiguous in a list. */
  ariaLabel?: string;
  className?: string;
  disabled?: boolean;
  testId?: string;
  /** `dialog` while the popup holds a small form rather than menu items. */
  popupRole?: 'menu' | 'dialog';
  /** Told whenever the popup closes, however it closes. */
  onClose?: () => void;
  /** The menu's content; `close` closes it and returns the focus to the trigger. */
  children: (close: () => void) => ReactNode;
}

const ITEMS = '[role=menuitem]:not([disabled]), input, select, button[type=submit]';

/**
 * A button that opens a small menu, as menus behave: the first item takes the focus, arrow keys
 * move between items, Escape or a click elsewhere closes it, and closing with the keyboard or
 * by choosing an item gives the focus back to the button. Escape stops here, so a menu inside a
 * panel closes alone.
 */
export function MenuButton(props: MenuButtonProps) {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const root = useRef<HTMLDivElement>(null);
  const menuId = useId();

  const { onClose } = props;
  const hide = () => {
    setOpen(false);
    onClose?.();
  };
  // Counted rather than done here: `close` is handed to the menu's content while it renders.
  const [focusBack, setFocusBack] = useState(0);
  const close = () => {
    hide();
    setFocusBack((n) => n + 1);
  };
  useEffect(() => {
    if (focusBack > 0) trigger.current?.focus();
  }, [focusBack]);

  useEffect(() => {
    if (!open) return;
    root.current?.querySelector<HTMLElement>(ITEMS)?.focus();
    const onPointer = (event: PointerEvent) => {
      if (event.target instanceof Node && !root.current?.contains(event.target)) {
        setOpen(false);
        onClose?.();
      }
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open, onClose]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      close();
      return;
    }
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const items = [...(root.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    if (items.length === 0) return;
    event.preventDefault();
    const at = items.findIndex((item) => item === document.activeElement);
    const step = event.key === 'ArrowDown' ? 1 : -1;
    items[(at + step + items.length) % items.length]?.focus();
  };

  return (
    <div className="menu-button" ref={root} onKeyDown={open ? onKeyDown : undefined}>
      <button
        ref={trigger}
        type="button"
        className={props.className ?? 'link-button'}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={props.ariaLabel}
        disabled={props.disabled}
        data-testid={props.testId}
        onClick={() => (open ? hide() : setOpen(true))}
      >
        {props.label}
      </button>
      {open && (
        <div
          className="menu"
          role={props.popupRole ?? 'menu'}
          aria-label={props.popupRole === 'dialog' ? props.ariaLabel : undefined}
          id={menuId}
        >
          {props.children(close)}
        </div>
      )}
    </div>
  );
}
