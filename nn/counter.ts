// An integer buffer: BatchNorm's num_batches_tracked. It is model state like the running statistics (saved as
// I64, restored on load), but counted on the host because the BatchNorm kernel path increments it per update.

export class Counter {
  constructor(public value = 0) {}
}
