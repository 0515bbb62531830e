/** `spladex serve` as a child process for tests: started on a free loopback port, its address read from its first output line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** JSON request; `body` is sent as is when a string. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startServe(dir: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`spladex serve did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`spladex serve exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  const request: ServeProcess['request'] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  };
  return {
    url,
    child,
    stderr: () => stderr,
    exited,
    request,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
