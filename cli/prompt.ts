/** Ask for a secret on the terminal without echoing it. */
import { createInterface } from 'node:readline';

export function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, output, terminal: true });
    // Print the question, then swallow the echo of what is typed.
    output.write(question);
    (rl as unknown as { _writeToOutput: (text: string) => void })._writeToOutput = () => undefined;
    rl.question('', (answer) => {
      rl.close();
      output.write('\n');
      resolve(answer);
    });
    rl.once('SIGINT', () => {
      rl.close();
      reject(new Error('cancelled'));
    });
  });
}
