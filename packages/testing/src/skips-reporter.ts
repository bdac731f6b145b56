// A vitest reporter that lists every skipped test grouped by the reason its title gives (describeOrSkip,
// itOrSkip, describeEachBackend write it there), so a run says what it did not cover and why. Printed
// before vitest's own summary; a skip without a reason is listed by name, to be given one.
import type { Reporter, TestModule } from 'vitest/node';

const REASON = /(?:— skipped: |\(skipped: )(.*?)\)?$/;

export default class SkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const byReason = new Map<string, string[]>();
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        const reason = REASON.exec(test.name)?.[1] ?? 'no reason given';
        byReason.set(reason, [
          ...(byReason.get(reason) ?? []),
          `${module.project.name} › ${test.fullName.replace(REASON, '').trim()}`,
        ]);
      }
    }
    if (byReason.size === 0) return;
    const total = [...byReason.values()].reduce((n, names) => n + names.length, 0);
    const lines = [`\n Skipped ${total} test${total === 1 ? '' : 's'}, by reason:`];
    for (const [reason, names] of byReason) {
      const shown = reason === 'no reason given' ? names : names.slice(0, 3);
      lines.push(
        `   ${reason} (${names.length}): ${shown.join('; ')}${shown.length < names.length ? `; … ${names.length - shown.length} more` : ''}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
