/** The × that removes one item (a tile, a chart) from a page, named for screen readers. */
export function RemoveButton({ what, onClick }: { what: string; onClick: () => void }) {
  return (
    <button
      type="button"
      className="icon-button icon-button--remove"
      aria-label={`Remove ${what}`}
      title={`Remove ${what.split(' ')[0]}`}
      onClick={onClick}
    >
      ×
    </button>
  );
}
