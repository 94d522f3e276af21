/**
 * A user's role in a project (`project_members.role`) and what it lets them do — the one
 * rule behind opening a document read-write, naming and restoring its versions, creating a
 * document in the project, and the web app's choice of projects to create in. No imports:
 * the web client bundles this module.
 */

export const PROJECT_ROLES = ['owner', 'editor', 'viewer'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

/** Owners and editors write (edit, take and restore versions, create documents); viewers and non-members (null) do not. */
export function mayWrite(role: ProjectRole | null): boolean {
  return role === 'owner' || role === 'editor';
}
