// Worker-thread entry for the Node data loader: registers tsx (so the TypeScript pipeline loads
// without a build step), then runs loader-worker.node.ts.
import { register } from 'tsx/esm/api';
register();
await import('./loader-worker.node.ts');
