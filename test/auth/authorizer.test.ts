/**
 * The one access rule: what the Authorizer answers for read, write and create in token mode
 * (project roles, on PostgreSQL) and in open mode, how `authorizeDocumentAction` holds any
 * authorizer's grant to what was asked, and the time the token checks read (the Clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizeDocumentAction,
  AuthenticationError,
  openAuthorizer,
  PermissionDeniedError,
  type Authorizer,
  type DocumentAction,
  type Principal,
} from '../../server/auth/authorizer.js';
import { ProjectAuthorizer } from '../../server/auth/project-authorizer.js';
import { mayWrite, PROJECT_ROLES } from '../../server/auth/roles.js';
import { InProcessSessionStore } from '../../server/auth/session-store.js';
import { Tokens } from '../../server/auth/tokens.js';
import { createProject, createUser, setMember } from '../../server/persistence/accounts.js';
import type { Db, Queryable } from '../../server/persistence/db.js';
import { createDocument, DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import type { DocumentRef } from '../../server/persistence/storage.js';
import { createTestDatabase, logger, type TestDatabase } from '../helpers/storage.js';

const SECRET = 'test-secret-authorizer-0123456789abcdef';

/** A clock the test sets. */
const clockAt = (start: number) => {
  const clock = { time: start, now: () => clock.time };
  return clock;
};

/** A database that must not be asked (the check under test answers before any query). */
const noDatabase: Queryable = {
  query: () => Promise.reject(new Error('no query expected')),
  exec: () => Promise.reject(new Error('no query expected')),
};

describe('mayWrite', () => {
  it('owners and editors write; viewers and non-members do not', () => {
    expect(PROJECT_ROLES.filter(mayWrite)).toEqual(['owner', 'editor']);
    expect(mayWrite(null)).toBe(false);
  });
});

describe('time comes from the Clock', () => {
  const start = Date.UTC(2030, 0, 1);

  it('Tokens mints and checks exp and iat at the clock’s time', async () => {
    const clock = clockAt(start);
    const tokens = new Tokens(SECRET, 600, clock);
    const userId = crypto.randomUUID();
    const { token, claims } = await tokens.mint(userId, 60);
    expect(claims.expiresAt).toBe(start + 60_000);
    await expect(tokens.verify(token)).resolves.toMatchObject({ userId });
    clock.time = start + 61_000;
    await expect(tokens.verify(token)).rejects.toThrow('token expired');
    clock.time = start - 10 * 60_000;
    await expect(tokens.verify(token)).rejects.toThrow('issued in the future');
  });

  it('ProjectAuthorizer.revalidate finds a kept principal expired by the clock', async () => {
    const clock = clockAt(start);
    const authorizer = new ProjectAuthorizer(noDatabase, new Tokens(SECRET), new InProcessSessionStore(), clock);
    const principal: Principal = { userId: crypto.randomUUID(), sessionId: 's', expiresAt: start + 1000 };
    clock.time = start + 1000;
    await expect(authorizer.revalidate(principal)).rejects.toThrow(new AuthenticationError('token expired', principal.userId));
    clock.time = start + 999;
    await expect(authorizer.revalidate(principal)).rejects.toThrow('no query expected');
  });
});

describe('authorizeDocumentAction holds a grant to what was asked', () => {
  const document: DocumentRef = { id: crypto.randomUUID(), name: 'held', kind: 'paper', projectId: DEFAULT_PROJECT_ID };
  const principal: Principal = { userId: null, sessionId: null, expiresAt: null };
  /** Ignores the action: read-only, and never says how to create. */
  const readOnly: Authorizer = {
    authenticate: () => Promise.resolve(principal),
    revalidate: () => Promise.resolve(),
    authorize: (asking) => Promise.resolve({ ...asking, scope: 'readonly', create: null }),
  };

  it('a read takes the grant; a write needs read-write; a creation needs the grant’s create', async () => {
    await expect(authorizeDocumentAction(readOnly, principal, document, 'read')).resolves.toMatchObject({ scope: 'readonly' });
    await expect(authorizeDocumentAction(readOnly, principal, document, 'write')).rejects.toThrow(
      new PermissionDeniedError('this needs the owner or editor role (your access to "held" is read-only)'),
    );
    await expect(authorizeDocumentAction(readOnly, principal, { name: 'new', kind: 'paper', projectId: null }, 'create')).rejects.toThrow(
      new PermissionDeniedError('no document named "new"'),
    );
  });

  it('open mode: everyone edits; a creation goes to the project asked for, else the default one', async () => {
    await expect(authorizeDocumentAction(openAuthorizer, principal, document, 'write')).resolves.toMatchObject({
      scope: 'read-write',
      create: null,
    });
    const project = crypto.randomUUID();
    expect(
      (await authorizeDocumentAction(openAuthorizer, principal, { name: 'n', kind: 'research_tree', projectId: project }, 'create')).create,
    ).toEqual({
      kind: 'research_tree',
      projectId: project,
    });
    expect(
      (await authorizeDocumentAction(openAuthorizer, principal, { name: 'n', kind: 'paper', projectId: null }, 'create')).create,
    ).toEqual({
      kind: 'paper',
      projectId: DEFAULT_PROJECT_ID,
    });
  });
});

describe('ProjectAuthorizer: roles decide read, write and create', () => {
  let database: TestDatabase;
  let db: Db;
  let authorizer: ProjectAuthorizer;
  const users = {} as Record<'owner' | 'editor' | 'viewer' | 'outsider', string>;
  const projects = {} as Record<'private' | 'public', string>;
  const documents = {} as Record<'private' | 'public', DocumentRef>;

  beforeAll(async () => {
    database = await createTestDatabase('authorizer');
    db = createPgDb({ connectionString: database.url, logger, max: 2 });
    await migrateUp(db);
    for (const who of ['owner', 'editor', 'viewer', 'outsider'] as const)
      users[who] = (await createUser(db, { email: `${who}@example.org`, name: who }))!.id;
    for (const visibility of ['private', 'public'] as const) {
      projects[visibility] = (await createProject(db, { name: visibility, ownerId: users.owner, visibility }))!.id;
      documents[visibility] = (await createDocument(db, `${visibility} paper`, 'paper', projects[visibility])).document;
    }
    await setMember(db, projects.private, users.editor, 'editor');
    await setMember(db, projects.private, users.viewer, 'viewer');
    authorizer = new ProjectAuthorizer(db, new Tokens(SECRET), new InProcessSessionStore());
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const principalOf = (who: keyof typeof users): Principal => ({ userId: users[who], sessionId: `session-${who}`, expiresAt: null });
  /** The refusal's reason, or what `grant` says. */
  async function outcome(grant: () => Promise<string>): Promise<string> {
    try {
      return await grant();
    } catch (error) {
      if (error instanceof PermissionDeniedError) return error.message;
      throw error;
    }
  }
  /** The grant's scope, or the reason it is refused. */
  const answer = (who: keyof typeof users, document: DocumentRef, action: DocumentAction) =>
    outcome(async () => (await authorizeDocumentAction(authorizer, principalOf(who), document, action)).scope);
  /** Where the document would be created, or the reason it may not be. */
  const creation = (who: keyof typeof users, projectId: string | null) =>
    outcome(async () => {
      const { create } = await authorizeDocumentAction(
        authorizer,
        principalOf(who),
        { name: 'to create', kind: 'paper', projectId },
        'create',
      );
      return `create in ${create.projectId === projects.private ? 'private' : create.projectId}`;
    });

  it.each([
    ['owner', 'read-write', 'read-write', 'create in private'],
    ['editor', 'read-write', 'read-write', 'create in private'],
    [
      'viewer',
      'readonly',
      'this needs the owner or editor role (your access to "private paper" is read-only)',
      'creating documents needs the owner or editor role in the project (you are a viewer)',
    ],
    [
      'outsider',
      'no access to document "private paper"',
      'no access to document "private paper"',
      'creating documents needs the owner or editor role in the project (you are not a member)',
    ],
  ] as const)('a private project’s %s: read %s, write %s, create %s', async (who, read, write, created) => {
    expect(await answer(who, documents.private, 'read')).toBe(read);
    expect(await answer(who, documents.private, 'write')).toBe(write);
    expect(await creation(who, projects.private)).toBe(created);
  });

  it('a public project: every user reads, only its writers write or create', async () => {
    expect(await answer('outsider', documents.public, 'read')).toBe('readonly');
    expect(await answer('outsider', documents.public, 'write')).toMatch(/needs the owner or editor role/);
    expect(await creation('outsider', projects.public)).toMatch(/you are not a member/);
  });

  it('nothing is created without a project named (a socket names none), nor for an anonymous principal', async () => {
    expect(await creation('owner', null)).toBe('no document named "to create"');
    await expect(authorizer.authorize({ userId: null, sessionId: null, expiresAt: null }, 'x', documents.private, 'read')).rejects.toThrow(
      new AuthenticationError('authentication required'),
    );
  });
});
