/**
 * `--spawn "<command>"`: start the device under test (a host build of the firmware, a simulator,
 * a serial bridge) before the run and stop it after. The command runs in its own process group so
 * that stopping it also stops whatever it started (a shell wrapper, a bridge and its child).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface SpawnOptions {
  command: string;
  cwd?: string;
  /** Added to the harness's own environment. */
  env?: Record<string, string>;
  /** How long to wait after SIGTERM before SIGKILL. Default 3000. */
  stopGraceMs?: number;
}

export interface SpawnedDevice {
  readonly pid: number;
  readonly command: string;
  /** Resolves when the process exits (at any time, on its own or stopped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** The last lines it printed (stdout and stderr interleaved), for reports. */
  outputTail(): string;
  /** SIGTERM the process group, SIGKILL it after the grace period, and wait for the exit. */
  stop(): Promise<void>;
}

const tailLines = 60;

export function spawnDevice(options: SpawnOptions): SpawnedDevice {
  const child: ChildProcess = spawn('/bin/sh', ['-c', options.command], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > tailLines) lines.splice(0, lines.length - tailLines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      exitedFlag = true;
      lines.push(`could not start: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };

  return {
    pid: child.pid ?? -1,
    command: options.command,
    exited,
    hasExited: () => exitedFlag,
    outputTail: () => [...lines, ...(partial ? [partial] : [])].join('\n'),
    async stop() {
      if (child.pid === undefined) return;
      const grace = options.stopGraceMs ?? 3000;
      signalGroup('SIGTERM');
      // The direct child (the shell) may exit long before what it started: wait for the whole group.
      if (!(await groupGone(child.pid, grace))) {
        signalGroup('SIGKILL');
        await groupGone(child.pid, 1000);
      }
      // The shell is dead by now; its exit event follows once Node has reaped it (bounded all the same).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    },
  };
}

/** True once no live process of the group is left; polls because a group has no exit event to wait on. */
async function groupGone(pgid: number, withinMs: number): Promise<boolean> {
  const endAt = performance.now() + withinMs;
  while (groupAlive(pgid)) {
    if (performance.now() >= endAt) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * Whether any process of the group still runs. On Linux, /proc tells zombies apart: an orphaned
 * grandchild that has exited stays a zombie until init reaps it, which in containers can take a
 * while, and it is as good as gone. Elsewhere, signal 0 to the group answers.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}
