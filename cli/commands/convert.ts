// spoofscan convert: any supported weight file → one spoofscan safetensors file with canonical names and the
// model configuration in __metadata__.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatLoadReport, LoadError, loadWeights, META_CONFIG } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { writeSafetensorsFile } from '../../models/io/safetensors-write.node.ts';
import { UserError } from '../../common/errors.ts';
import { Progress } from '../../common/progress.ts';

export const summary = 'convert fairseq / MultiAPI-Spoof / Hugging Face weights to a spoofscan .safetensors file';

const HELP = `usage: spoofscan convert IN OUT.safetensors [options]

IN is a fairseq checkpoint (xlsr2_300m.pt), a MultiAPI-Spoof Nes2Net-LA checkpoint (epoch_5_1.422.pth),
a Hugging Face pytorch_model.bin / model.safetensors, or a spoofscan .safetensors file.

options:
  --dtype f32|f16     storage type of floating-point tensors (default f32)
  --config FILE       Hugging Face config.json (default: a wav2vec2 config.json next to IN, if there is one)
  --heads N           attention heads, for widths without a preset and no config
  --allow-unexpected  report tensors the model does not know instead of failing
  -h, --help          this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dtype: { type: 'string', default: 'f32' },
      config: { type: 'string' },
      heads: { type: 'string' },
      'allow-unexpected': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UserError(`expected IN and OUT\n${HELP}`);
  const [input, output] = positionals;
  if (values.dtype !== 'f32' && values.dtype !== 'f16') throw new UserError(`--dtype must be f32 or f16, not "${values.dtype}"`);
  if (!output.endsWith('.safetensors')) throw new UserError(`OUT must end in .safetensors: ${output}`);
  const heads = values.heads === undefined ? undefined : Number(values.heads);
  if (heads !== undefined && !(Number.isSafeInteger(heads) && heads > 0)) throw new UserError(`--heads must be a positive integer, not "${values.heads}"`);

  const nextTo = join(dirname(input), 'config.json');
  let configPath = values.config ?? (existsSync(nextTo) ? nextTo : undefined);
  let hfConfig: unknown;
  if (configPath) {
    try {
      hfConfig = JSON.parse(readFileSync(configPath, 'utf8'));
    } catch (e) {
      throw new UserError(`${configPath}: cannot read as JSON (${(e as Error).message})`);
    }
    // A config.json that merely sits next to IN may belong to something else (a training run, another model):
    // use it only when it is a Hugging Face wav2vec2 config. An explicit --config is always used.
    if (!values.config && (hfConfig as { model_type?: unknown } | null)?.model_type !== 'wav2vec2') {
      console.error(`note: ignoring ${configPath}: not a Hugging Face wav2vec2 config (no "model_type": "wav2vec2")`);
      hfConfig = configPath = undefined;
    }
  }

  const source = await fileSource(input);
  try {
    let weights;
    try {
      weights = await loadWeights(source, {
        hfConfig,
        hfConfigFile: configPath,
        strict: !values['allow-unexpected'],
        overrides: heads ? { xlsr: { heads } } : undefined,
      });
    } catch (e) {
      if (e instanceof LoadError) console.error(formatLoadReport(e.report));
      throw e;
    }
    console.error(formatLoadReport(weights.report));
    const dtype = values.dtype === 'f16' ? 'F16' : 'F32';
    const tensors = weights.tensors.map((t) => ({
      name: t.name,
      dtype: t.spec.dtype === 'int64' ? t.dtype : dtype,
      shape: t.shape,
      data: async () => (await t.read(dtype)).data,
    }));
    const metadata = {
      format: 'spoofscan',
      [META_CONFIG]: JSON.stringify(weights.config),
      'spoofscan.source': basename(input),
      'spoofscan.source_layout': weights.report.layout.join('+'),
    };
    const progress = new Progress('convert', tensors.length, 'tensors');
    const t0 = Date.now();
    const { bytes } = await writeSafetensorsFile(output, tensors, metadata, {
      onProgress: (done, total) => progress.tick(1, `${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`),
    }).catch((e: unknown) => {
      // File-system failures (missing directory, read-only or full disk) are the user's to fix: no stack.
      if (typeof (e as NodeJS.ErrnoException).code === 'string') throw new UserError(`${output}: cannot write (${(e as Error).message})`);
      throw e;
    });
    console.log(
      `wrote ${output}: ${tensors.length} tensors, ${weights.report.params.toLocaleString('en-US')} parameters, ` +
        `${values.dtype}, ${(bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s (${weights.config.arch})`,
    );
    return 0;
  } finally {
    await source.close();
  }
}
