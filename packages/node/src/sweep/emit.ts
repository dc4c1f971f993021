import YAML from 'yaml';
import type { SweepManifest } from './plan';

export const SLURM_SCRIPT = 'sweep.slurm.sh';
export const KUBERNETES_MANIFEST = 'sweep.k8s.yaml';

export interface EmitOptions {
  /** Sweep directory as the job sees it (relative to the working directory, or absolute on shared storage). */
  sweepDir: string;
  /** Job name (Slurm job name, Kubernetes Job name: lowercase letters, digits, '-'). */
  name: string;
  /** Runs at a time (Slurm `%N` array throttle, Kubernetes parallelism); default: all. */
  parallel?: number;
  /** Backend threads per run (`--threads`, also the CPUs each job asks for). */
  threads?: number;
  backend?: string;
  plugins?: string[];
  /** Extra `#SBATCH` options, e.g. `--partition=gpu` or `--time=01:00:00`. */
  sbatch?: string[];
  /** Kubernetes: container image with Node.js 20 (the repository is on the shared volume). */
  image?: string;
  /** Kubernetes: PersistentVolumeClaim of the shared storage, mounted as the working directory. */
  pvc?: string;
}

/** Single-quoted for bash: safe for any value. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The part both schedulers run for one index: pick the run of $INDEX, skip it when final.json
 * exists, add --resume when it has a checkpoint, and run `selfsup train` in the background so
 * a preemption signal (TERM, or USR1 ahead of Slurm's time limit) reaches the trainer, which
 * then stops at a checkpoint; the scheduler's retry runs this again and it resumes.
 */
function runIndexScript(m: SweepManifest, o: EmitOptions, onPreempt: string[]): string[] {
  const extra = [
    ...(o.backend ? ['--backend', o.backend] : []),
    ...(o.threads ? ['--threads', String(o.threads)] : []),
    ...(o.plugins ?? []).flatMap((p) => ['--plugin', p]),
  ];
  const cases = m.runs.map((r) => {
    const sets = r.set.flatMap((s) => ['--set', shellQuote(s)]).join(' ');
    return `  ${r.index}) RUN_NAME=${shellQuote(r.name)}; SETS=(${sets}) ;;`;
  });
  return [
    'set -euo pipefail',
    '# The selfsup command: the built CLI of the checkout on shared storage, or an installed one.',
    'SELFSUP="${SELFSUP:-npx --no-install selfsup}"',
    `SWEEP_DIR=${shellQuote(o.sweepDir)}`,
    `CONFIG=${shellQuote(m.config)}`,
    'case "$INDEX" in',
    ...cases,
    `  *) echo "selfsup sweep: no run for index $INDEX (expected 0-${m.runs.length - 1})" >&2; exit 2 ;;`,
    'esac',
    'RUN_DIR="$SWEEP_DIR/$RUN_NAME"',
    'if [ -f "$RUN_DIR/final.json" ]; then',
    '  echo "selfsup sweep: $RUN_DIR is finished (final.json); nothing to do"',
    '  exit 0',
    'fi',
    'RESUME=()',
    'if compgen -G "$RUN_DIR/checkpoints/checkpoint-*.safetensors" > /dev/null; then RESUME=(--resume); fi',
    `EXTRA=(${extra.map(shellQuote).join(' ')})`,
    'TRAIN_PID=',
    'on_preempt() {',
    '  echo "selfsup sweep: $1 received: stopping $RUN_DIR at a checkpoint" >&2',
    '  if [ -n "$TRAIN_PID" ]; then',
    '    kill -TERM "$TRAIN_PID" 2>/dev/null || true',
    '    wait "$TRAIN_PID" || true',
    '  fi',
    ...onPreempt.map((l) => `  ${l}`),
    '}',
    "trap 'on_preempt TERM' TERM",
    ...(onPreempt.some((l) => l.includes('scontrol')) ? ["trap 'on_preempt USR1' USR1"] : []),
    '# shellcheck disable=SC2086 # SELFSUP may be a command with arguments',
    '$SELFSUP train --config "$CONFIG" "${SETS[@]}" --out "$RUN_DIR" -q ${RESUME[@]+"${RESUME[@]}"} ${EXTRA[@]+"${EXTRA[@]}"} &',
    'TRAIN_PID=$!',
    'wait "$TRAIN_PID"',
  ];
}

/**
 * A Slurm job-array script: one array index per run, each `selfsup train` into its own run
 * directory under the sweep directory. `--requeue` lets Slurm requeue a preempted task; USR1
 * two minutes before the time limit stops the trainer and requeues the task itself; either way
 * the task runs again and resumes from its last checkpoint.
 */
export function slurmScript(m: SweepManifest, o: EmitOptions): string {
  const n = m.runs.length;
  const throttle = o.parallel && o.parallel < n ? `%${o.parallel}` : '';
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${o.name}`,
    `#SBATCH --array=0-${n - 1}${throttle}`,
    `#SBATCH --output=${o.sweepDir}/logs/%A_%a.out`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${o.threads ?? 2}`,
    '#SBATCH --requeue',
    '#SBATCH --open-mode=append',
    '#SBATCH --signal=B:USR1@120',
    ...(o.sbatch ?? []).map((s) => `#SBATCH ${s}`),
    `# ${n} runs of: ${m.command}`,
    '# Submit from the directory the sweep was made in (paths are relative to it):',
    `#   sbatch ${o.sweepDir}/${SLURM_SCRIPT}`,
    `# then: selfsup sweep --collect ${o.sweepDir}`,
    'cd "${SELFSUP_WORKDIR:-${SLURM_SUBMIT_DIR:-.}}"',
    'mkdir -p ' + shellQuote(`${o.sweepDir}/logs`),
    'INDEX="${SLURM_ARRAY_TASK_ID:?not running as a Slurm array task}"',
    ...runIndexScript(m, o, [
      '[ "$1" = USR1 ] && scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
      'exit 0',
    ]),
    '',
  ].join('\n');
}

/** Kubernetes names: lowercase alphanumerics and '-', at most 63 characters, alphanumeric at both ends. */
export function kubernetesName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 52)
    .replace(/-+$/g, '');
  return cleaned || 'selfsup-sweep';
}

/**
 * A Kubernetes Indexed Job: completions = runs, JOB_COMPLETION_INDEX selects the run, the
 * shared volume (PVC) is the working directory holding the checkout and the sweep directory.
 * A pod evicted by a disruption (preemption, node drain) does not count against the backoff
 * limit; its replacement resumes from the run's last checkpoint.
 */
export function kubernetesManifest(m: SweepManifest, o: EmitOptions): string {
  const n = m.runs.length;
  const script = [
    'INDEX="${JOB_COMPLETION_INDEX:?not running as an Indexed Job pod}"',
    ...runIndexScript(m, o, ['exit 143']),
  ];
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: kubernetesName(o.name), labels: { app: 'selfsup-sweep' } },
    spec: {
      completionMode: 'Indexed',
      completions: n,
      parallelism: Math.min(n, o.parallel ?? n),
      backoffLimit: 3 * n,
      podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] },
      template: {
        metadata: { labels: { app: 'selfsup-sweep' } },
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 120,
          containers: [
            {
              name: 'train',
              image: o.image ?? 'node:20-bookworm',
              workingDir: '/work',
              command: ['bash', '-c', script.join('\n') + '\n'],
              resources: { requests: { cpu: String(o.threads ?? 2) } },
              volumeMounts: [{ name: 'shared', mountPath: '/work' }],
            },
          ],
          volumes: [{ name: 'shared', persistentVolumeClaim: { claimName: o.pvc ?? 'selfsup-shared' } }],
        },
      },
    },
  };
  return [
    `# ${n} runs of: ${m.command}`,
    `# kubectl apply -f ${o.sweepDir}/${KUBERNETES_MANIFEST}   (the PVC holds the checkout, built, and ${o.sweepDir})`,
    `# then: selfsup sweep --collect ${o.sweepDir}`,
    YAML.stringify(job, { lineWidth: 0 }),
  ].join('\n');
}
