/** Who is in a document, from awareness states: one entry per person, me first, who is typing. */
import { describe, expect, it } from 'vitest';
import { peopleFromAwareness, typingSentence } from '../../clients/web/src/collab/people.js';

const user = (key: string, name: string, extra: Record<string, unknown> = {}) => ({ user: { key, name, color: '#0f766e' }, ...extra });

describe('peopleFromAwareness', () => {
  it('lists each person once (two tabs of one person are one), me first, then by name', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, user('user:b', 'Grace')],
      [2, user('user:a', 'Ada')],
      [3, user('user:b', 'Grace', { typing: true })],
      [4, user('user:c', 'Zoe')],
    ]);
    const people = peopleFromAwareness(states, 4);
    expect(people.map((p) => [p.name, p.isMe, p.typing])).toEqual([
      ['Zoe', true, false],
      ['Ada', false, false],
      ['Grace', false, true],
    ]);
  });

  it('leaves out states without a usable user and keys clients without one by client id', () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, {}],
      [2, { user: { name: '   ' } }],
      [3, { user: { name: 'Bare client' } }],
    ]);
    expect(peopleFromAwareness(states, 9).map((p) => [p.key, p.name])).toEqual([['client:3', 'Bare client']]);
  });
});

describe('typingSentence', () => {
  const person = (name: string, typing: boolean, isMe = false) => ({ key: name, name, color: '#000', typing, isMe });
  it('names who else is typing', () => {
    expect(typingSentence([person('Me', true, true)])).toBe('');
    expect(typingSentence([person('Ada', true)])).toBe('Ada is typing…');
    expect(typingSentence([person('Ada', true), person('Grace', true)])).toBe('Ada and Grace are typing…');
    expect(typingSentence([person('A', true), person('B', true), person('C', true)])).toBe('3 people are typing…');
  });
});
