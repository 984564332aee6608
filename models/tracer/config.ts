// API-tracing head configuration, preset and parameter list (canonical names, models/io/mapping.ts).
import { paramSpec, type ParamSpec } from '../param-spec.ts';

export interface TracerConfig {
  heads: number;
  hidden: number;
  classes: number;
}

export const TRACER: TracerConfig = { heads: 4, hidden: 128, classes: 21 };


export function tracerParams(c: TracerConfig, dModel: number, prefix = 'tracer.'): ParamSpec[] {
  return [
    paramSpec(`${prefix}attn.in_proj.weight`, [3 * dModel, dModel]), paramSpec(`${prefix}attn.in_proj.bias`, [3 * dModel]),
    paramSpec(`${prefix}attn.out_proj.weight`, [dModel, dModel]), paramSpec(`${prefix}attn.out_proj.bias`, [dModel]),
    paramSpec(`${prefix}fc1.weight`, [c.hidden, dModel]), paramSpec(`${prefix}fc1.bias`, [c.hidden]),
    paramSpec(`${prefix}fc3.weight`, [c.classes, c.hidden]), paramSpec(`${prefix}fc3.bias`, [c.classes]),
  ];
}

