/**
 * A user's role in a project (`project_members.role`) and what it lets them do — the one
 * rule behind opening a document read-write, naming and restoring its versions, creating,
 * renaming and deleting a document in the project, seeing and restoring from its trash, and
 * the web app's choice of projects to create in. No imports:
 * the web client bundles this module.
 */

export const PROJECT_ROLES = ['owner', 'editor', 'viewer'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/** Owners and editors write (edit, take and restore versions, create, rename and delete documents); viewers and non-members (null) do not. */
export function mayWrite(role: ProjectRole | null): boolean {
  return role === 'owner' || role === 'editor';
}

/** Owners manage the project: its trash is theirs to see and restore from. */
export function mayManage(role: ProjectRole | null): boolean {
  return role === 'owner';
}
