/**
 * Third-party plugins are equals of official ones: named under `plugins:` in config (as
 * MMEngine's custom_imports), resolved from the working directory and the config's folder,
 * recorded in the run's config.yaml and used by train, --resume and eval with no flag. ESM-only
 * packages, CommonJS packages and plain files load; errors name what failed and why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { errorLines, REPO, runCli, tinyConfig, tmpDir } from './helpers';

// A user's plugin imports @selfsup/core from its own node_modules, so loading one runs the built
// packages as a user would: the built CLI in a child process.
const BIN = join(REPO, 'packages/node/bin/selfsup.js');
const BUILT = [
  'packages/node/dist/cli.js',
  'packages/core/dist/index.js',
  'packages/core/dist/index.cjs',
].every((p) => existsSync(join(REPO, p)));
if (!BUILT) {
  console.warn(
    'plugins-config.test.ts: skipping the out-of-tree plugin runs: the packages are not built (run `npm run build`)',
  );
}

/** Runs the built CLI in `cwd`. */
function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user project: its node_modules has @selfsup/core (the built package), as after `npm install`. */
function userProject(tag: string): string {
  const project = tmpDir(tag);
  mkdirSync(join(project, 'node_modules', '@selfsup'), { recursive: true });
  symlinkSync(join(REPO, 'packages/core'), join(project, 'node_modules', '@selfsup', 'core'), 'dir');
  return project;
}

/** An aggregator plugin (GeM-style power-mean pooling + the method's head), as a user would write it. */
const PLUGIN_BODY = `
class PowerMeanAggregator extends core.Module {
  constructor(ctx, p) {
    super();
    this.hasAlignedBranch = false;
    this.p = p;
    this.neck = this.registerModule('neck', ctx.makeHead(ctx.inChannels));
  }
  forward(f) {
    const [b, , , c] = f.shape;
    const pooled = core.tf.pow(core.tf.mean(core.tf.pow(core.tf.maximum(f, 1e-6), this.p), [1, 2]), 1 / this.p);
    return { global: core.tf.reshape(this.neck.forward(core.tf.reshape(pooled, [b, 1, c])), [b, this.neck.outDim]) };
  }
  combineLosses(g) { return g; }
}
const plugin = {
  name: 'NAME',
  register(container) {
    core.registerType(container, 'Hook', {
      type: 'TYPE_marks',
      plugin: 'NAME',
      optionsSchema: core.z.object({ file: core.z.string() }).strict(),
      create: (o) => ({
        name: 'marks',
        afterEpoch: (_t, m) => fs.appendFileSync(o.file, JSON.stringify({ epoch: m.epoch, loss: m.loss }) + '\\n'),
      }),
    });
    core.registerType(container, 'BenchPreset', {
      type: 'TYPE_bench',
      plugin: 'NAME',
      create: ({ width }) => ({
        method: { type: 'byol', hiddenDim: 16, outDim: 16 },
        aggregator: 'TYPE',
        backbone: { type: 'resnet', blocks: [1, 1], widths: [width, 2 * width], stem: 'cifar' },
      }),
    });
    core.registerType(container, 'Aggregator', {
      type: 'TYPE',
      plugin: 'NAME',
      optionsSchema: core.z.object({ p: core.z.number().positive().default(2) }).strict(),
      create: (options, ctx) => new PowerMeanAggregator(ctx, options.p),
    });
  },
};
`;

function writePackage(root: string, name: string, kind: 'esm-only' | 'cjs', type: string): void {
  const dir = join(root, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  const body = PLUGIN_BODY.replaceAll('NAME', name).replaceAll('TYPE', type);
  if (kind === 'esm-only') {
    // Only an "import" condition: require.resolve cannot find it, import can.
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name, type: 'module', exports: { '.': { import: './index.js' } } }),
    );
    writeFileSync(
      join(dir, 'index.js'),
      `import * as core from '@selfsup/core';\nimport * as fs from 'node:fs';\n${body}\nexport default plugin;\n`,
    );
  } else {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, main: 'main.cjs' }));
    writeFileSync(
      join(dir, 'main.cjs'),
      `const core = require('@selfsup/core');\nconst fs = require('node:fs');\n${body}\nmodule.exports = { plugin };\n`,
    );
  }
}

describe('plugins: in config', () => {
  it.skipIf(!BUILT)(
    'an ESM-only package named in plugins: trains, resumes and evaluates with no flag',
    () => {
      const project = userProject('plugin-project');
      writePackage(project, 'selfsup-powermean', 'esm-only', 'power_mean');
      mkdirSync(join(project, 'configs'));
      const config = join(project, 'configs', 'pm.yaml');
      const base = tinyConfig('byol').replace('aggregator: global', 'aggregator: {type: power_mean, p: 3}');
      writeFileSync(config, `plugins: [selfsup-powermean]\n${base}`);
      const run = join(project, 'runs', 'pm');
      // The working directory is the repository: the package resolves from the config's folder.
      const first = cli(
        ['train', '--config', config, '--out', run, '--backend', 'cpu', '-q', '--set', 'train.maxSteps=2'],
        REPO,
      );
      expect(first.code, first.stderr).toBe(0);
      const recorded = YAML.parse(readFileSync(join(run, 'config.yaml'), 'utf8'));
      expect(recorded.plugins).toEqual(['selfsup-powermean']);
      expect(recorded.aggregator).toEqual({ type: 'power_mean', p: 3 });

      const resumed = cli(
        [
          'train',
          '--config',
          join(run, 'config.yaml'),
          '--out',
          run,
          '--resume',
          '--backend',
          'cpu',
          '-q',
          '--set',
          'train.maxSteps=4',
        ],
        REPO,
      );
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(/resumed from .*checkpoint-00000002/);

      const evaluated = cli(['eval', 'knn', '--checkpoint', run, '--backend', 'cpu', '--json'], REPO);
      expect(evaluated.code, evaluated.stderr).toBe(0);
      expect(JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!).knn_top1).toBeGreaterThanOrEqual(0);
    },
  );

  it.skipIf(!BUILT)('a CommonJS package and a plain file load too; a file path is recorded absolute', () => {
    const project = userProject('plugin-cjs');
    writePackage(project, 'selfsup-pm-cjs', 'cjs', 'power_mean_cjs');
    const file = join(project, 'local-plugin.mjs');
    writeFileSync(
      file,
      `import * as core from '@selfsup/core';\nimport * as fs from 'node:fs';\n${PLUGIN_BODY.replaceAll('NAME', 'local-plugin').replaceAll('TYPE', 'power_mean_file')}\nexport default plugin;\n`,
    );
    const config = join(project, 'cfg.yaml');
    const base = tinyConfig('byol').replace('aggregator: global', 'aggregator: power_mean_cjs');
    writeFileSync(config, `plugins: [selfsup-pm-cjs, ./local-plugin.mjs]\n${base}`);
    const run = join(project, 'run');
    const marks = join(project, 'marks.jsonl');
    // A hook type from a plugin, added from config next to the standard hooks.
    const r = cli(
      [
        'train',
        '--config',
        config,
        '--out',
        run,
        '--backend',
        'cpu',
        '-q',
        '--set',
        'train.maxSteps=5',
        '--set',
        `train.hooks=[{type: power_mean_cjs_marks, file: ${marks}}]`,
      ],
      REPO,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(
      readFileSync(marks, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).epoch),
    ).toEqual([1, 2]);
    expect(YAML.parse(readFileSync(join(run, 'config.yaml'), 'utf8')).plugins).toEqual([
      'selfsup-pm-cjs',
      file,
    ]);
    const info = cli(['info', '--backend', 'cpu', '--plugin', file], REPO);
    expect(info.stdout).toMatch(/aggregator: .*power_mean_file/);
    expect(info.stdout).toMatch(/^backend: cpu \(from --backend\)/m);
    // A plugin's bench preset runs like the official ones.
    const bench = cli(
      [
        'bench',
        '--method',
        'power_mean_file_bench',
        '--plugin',
        file,
        '--backend',
        'cpu',
        '--width',
        '4',
        '--res',
        '16',
        '--batch',
        '4',
        '--steps',
        '1',
        '--json',
      ],
      REPO,
    );
    expect(bench.code, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout.trim())).toMatchObject({
      method: 'power_mean_file_bench',
      width: 4,
      batch: 4,
    });
    const unknown = cli(['bench', '--method', 'nope', '--backend', 'cpu'], REPO);
    expect(unknown.stderr).toMatch(
      /--method nope: no bench preset of that name; registered: byol, moco, lewel_b, lewel_m, lewel_simsiam, lewel_simclr, simsiam, simclr/,
    );
  });

  it('names the failing plugin, where it was named and why', async () => {
    const project = tmpDir('plugin-bad');
    const config = join(project, 'bad.yaml');
    writeFileSync(config, `plugins: [selfsup-not-installed]\n${tinyConfig('byol')}`);
    const missing = await runCli([
      'train',
      '--config',
      config,
      '--out',
      join(project, 'r1'),
      '--backend',
      'cpu',
    ]);
    expect(missing.code).toBe(2);
    expect(errorLines(missing.stderr).join('\n')).toMatch(
      /bad\.yaml: plugins\[0\] 'selfsup-not-installed': cannot load: package 'selfsup-not-installed' is not installed in node_modules above/,
    );
    writeFileSync(join(project, 'empty.mjs'), 'export const answer = 42;\n');
    writeFileSync(config, `plugins: [./empty.mjs]\n${tinyConfig('byol')}`);
    const empty = await runCli([
      'train',
      '--config',
      config,
      '--out',
      join(project, 'r2'),
      '--backend',
      'cpu',
    ]);
    expect(errorLines(empty.stderr).join('\n')).toMatch(/empty\.mjs': exports no plugin/);
    writeFileSync(config, `plugins: [./absent.mjs]\n${tinyConfig('byol')}`);
    const absent = await runCli([
      'train',
      '--config',
      config,
      '--out',
      join(project, 'r3'),
      '--backend',
      'cpu',
    ]);
    expect(errorLines(absent.stderr).join('\n')).toMatch(
      /bad\.yaml: plugins\[0\] '\.\/absent\.mjs': no such file: tried .*absent\.mjs/,
    );
    writeFileSync(config, `plugins: selfsup-powermean\n${tinyConfig('byol')}`);
    const notList = await runCli([
      'train',
      '--config',
      config,
      '--out',
      join(project, 'r4'),
      '--backend',
      'cpu',
    ]);
    expect(errorLines(notList.stderr).join('\n')).toMatch(/bad\.yaml: invalid config/);
    expect(notList.stderr).toMatch(/plugins: got "selfsup-powermean"; Expected array/);
  });
});
