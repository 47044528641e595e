/** The button under a paged list: shown while more pages exist, disabled while one loads. */
export function LoadMore(props: {
  pages: {
    hasNextPage: boolean;
    isFetchingNextPage: boolean;
    fetchNextPage: () => Promise<unknown>;
  };
  testId: string;
  className?: string;
  buttonClassName?: string;
}) {
  const { pages } = props;
  if (!pages.hasNextPage) return null;
  return (
    <p className={props.className ?? 'pad'}>
      <button
        type="button"
        className={props.buttonClassName ?? 'link-button'}
        data-testid={props.testId}
        disabled={pages.isFetchingNextPage}
        onClick={() => void pages.fetchNextPage()}
      >
        {pages.isFetchingNextPage ? 'Loading…' : 'Load more'}
      </button>
    </p>
  );
}
