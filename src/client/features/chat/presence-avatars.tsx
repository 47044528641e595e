import type { Person } from '../../../shared/schemas/chat.ts';

const initials = (p: Person) =>
  p.displayName
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .join('') || p.username.slice(0, 2).toUpperCase();

/** One avatar per person present in the room; `stale` while the link that says so is down. */
export function PresenceAvatars(props: { people: readonly Person[]; me: string; stale: boolean }) {
  const { people, me, stale } = props;
  return (
    <ul
      className={stale ? 'presence presence--stale' : 'presence'}
      aria-label={stale ? `${people.length} here when last connected` : `${people.length} here now`}
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
    </ul>
  );
}
