/** Runs a Node.js script as a child process with this Node.js, its output on ours. */
import { spawn } from 'node:child_process';
import { ROOT } from './build-stamp.mjs';

/**
 * Resolves with the script's exit status (1 when it could not start or was killed by a signal).
 * @param {string} script absolute path
 * @param {readonly string[]} args
 * @returns {Promise<number>}
 */
export function runNode(script, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit', cwd: ROOT });
    child.once('error', (error) => {
      process.stderr.write(`${script}: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
