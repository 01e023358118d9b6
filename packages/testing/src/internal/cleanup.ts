/**
 * A last-resort safety net: whatever is registered here is torn down
 * synchronously when the Node.js process exits, so that a crashed or
 * interrupted test run leaves no registry process or temporary directory
 * behind. Normal teardown (`stop()`) unregisters itself first.
 */

/** Something that can be torn down synchronously at process exit. */
export interface ExitCleanup {
  /** Kill processes and remove files; must not throw, must not wait. */
  runSync(): void;
}

const pending = new Set<ExitCleanup>();
let installed = false;

function onExit(): void {
  for (const entry of pending) {
    try {
      entry.runSync();
    } catch {
      // Exiting anyway: nothing useful can be done with the failure.
    }
  }
  pending.clear();
}

/** Registers `entry` to run at process exit; returns the function that unregisters it. */
export function onProcessExit(entry: ExitCleanup): () => void {
  if (!installed) {
    process.once("exit", onExit);
    installed = true;
  }
  pending.add(entry);
  return () => {
    pending.delete(entry);
  };
}
