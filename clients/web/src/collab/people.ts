/** The `user` field each client puts in its awareness state. */
export interface AwarenessUser {
  readonly key: string;
  readonly name: string;
  readonly color: string;
}

export interface Person extends AwarenessUser {
  readonly typing: boolean;
  readonly isMe: boolean;
}

/**
 * One entry per person from the awareness states (a person with two tabs is one entry),
 * me first, then by name. States without a usable `user` are left out.
 */
export function peopleFromAwareness(states: ReadonlyMap<number, Record<string, unknown>>, myClientId: number): Person[] {
  const byKey = new Map<string, Person>();
  let myKey: string | null = null;
  for (const [clientId, state] of states) {
    const user = state.user as Partial<AwarenessUser> | undefined;
    if (!user || typeof user.name !== 'string' || user.name.trim() === '') continue;
    const key = typeof user.key === 'string' ? user.key : `client:${clientId}`;
    const isMe = clientId === myClientId;
    if (isMe) myKey = key;
    const typing = state.typing === true;
    const existing = byKey.get(key);
    byKey.set(key, {
      key,
      name: user.name,
      color: typeof user.color === 'string' ? user.color : '#334155',
      typing: typing || (existing?.typing ?? false),
      isMe: isMe || (existing?.isMe ?? false),
    });
  }
  return [...byKey.values()]
    .map((person) => (person.key === myKey ? { ...person, isMe: true } : person))
    .sort((a, b) => Number(b.isMe) - Number(a.isMe) || a.name.localeCompare(b.name) || a.key.localeCompare(b.key));
}

/** "Ada is typing…", "Ada and Grace are typing…", "3 people are typing…"; empty when nobody else is. */
export function typingSentence(people: readonly Person[]): string {
  const typing = people.filter((person) => person.typing && !person.isMe).map((person) => person.name);
  if (typing.length === 0) return '';
  if (typing.length === 1) return `${typing[0]} is typing…`;
  if (typing.length === 2) return `${typing[0]} and ${typing[1]} are typing…`;
  return `${typing.length} people are typing…`;
}
