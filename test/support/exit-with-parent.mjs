// Runs a command as a child and ties its life to the test process that started this one:
// `node exit-with-parent.mjs <command> [args...]`. Its stdin is a pipe from the test process;
// when that closes (the test process died without cleaning up) the command is killed, so no
// worker or server outlives its test. Otherwise it waits for the command and exits as it did.
// SIGTERM and SIGINT reach the command directly (the whole process group gets them); this
// process keeps waiting for the command's own exit meanwhile.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => undefined);

process.stdin.on('data', () => undefined);
process.stdin.on('close', () => {
  child.kill('SIGKILL');
  process.exit(1);
});

child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 : 1));
});
