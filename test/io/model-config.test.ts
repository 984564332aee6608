// The model configuration stored in a fairseq checkpoint (cfg.model, or legacy args) is the one the XLS-R model
// is built with: architecture and regularisation (dropouts, layerdrop) reach XlsrModel.config unchanged.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../engine/node.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { loadXlsr } from '../../models/xlsr/index.ts';
import { FIXTURES, loadExpected } from './helpers.ts';

beforeAll(async () => {
  await initEngine(undefined, { quiet: true });
});

async function built(file: string) {
  const src = await fileSource(join(FIXTURES, file));
  try {
    return await loadXlsr(src);
  } finally {
    await src.close();
  }
}

describe('fairseq config → XLS-R model', () => {
  it('cfg.model: every field the generator stored is what the model runs with', async () => {
    const want = (await loadExpected()).manifest.configs['xlsr-fairseq.pt'];
    const { model, weights } = await built('xlsr-fairseq.pt');
    expect(weights.report.configSource).toBe('fairseq cfg.model');
    expect(model.config).toMatchObject({
      layers: want.encoder_layers, dModel: want.encoder_embed_dim, ffnDim: want.encoder_ffn_embed_dim,
      heads: want.encoder_attention_heads, posConvKernel: want.conv_pos, posConvGroups: want.conv_pos_groups,
      dropout: want.dropout, attentionDropout: want.attention_dropout, activationDropout: want.activation_dropout,
      layerdrop: want.encoder_layerdrop, dropoutInput: want.dropout_input, dropoutFeatures: want.dropout_features,
      featureGradMult: want.feature_grad_mult,
    });
    // The fixture's values differ from the no-config defaults, so a config that was not used would show.
    expect([model.config.dropout, model.config.attentionDropout, model.config.layerdrop]).toEqual([0.1, 0.05, 0.1]);
  });

  it('legacy args Namespace: read and used the same way', async () => {
    const { model, weights } = await built('xlsr-fairseq-args.pt');
    expect(weights.report.configSource).toBe('fairseq args');
    expect(model.config).toMatchObject({ layers: 2, dModel: 64, heads: 4, dropout: 0, attentionDropout: 0.05, layerdrop: 0.1 });
  });
});
