import type { Person } from '../../../shared/schemas/chat.ts';

const initials = (p: Person) =>
  p.displayName
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .join('') || p.username.slice(0, 2).toUpperCase();

/**
 * One avatar per person shown (everyone, or a sample of a big room, `count` being everyone);
 * `stale` while the link that says so is down.
 */
export function PresenceAvatars(props: {
  people: readonly Person[];
  count: number;
  me: string;
  stale: boolean;
}) {
  const { people, count, me, stale } = props;
  const more = count - people.length;
  return (
    <ul
      className={stale ? 'presence presence--stale' : 'presence'}
      aria-label={stale ? `${count} here when last connected` : `${count} here now`}
      data-testid="presence"
    >
      {people.map((p) => (
        <li
          key={p.userId}
          className={p.userId === me ? 'avatar avatar--me' : 'avatar'}
          title={`${p.displayName} (@${p.username})${p.userId === me ? ', you' : ''}`}
          data-testid="presence-avatar"
          data-username={p.username}
        >
          {initials(p)}
        </li>
      ))}
      {more > 0 && (
        <li className="avatar avatar--more" title={`and ${more} more`} data-testid="presence-more">
          +{more}
        </li>
      )}
    </ul>
  );
}
