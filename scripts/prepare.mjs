// `npm ci` / `npm install` run this (the package's "prepare" script): build dist/ so that
// `npx frames` works right after installing. A production install (--omit=dev, as in the Docker
// image) has no TypeScript and uses the dist/ it was given: skip quietly there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.log(`prepare: TypeScript is not installed (production install); ${existsSync('dist/src/cli/main.js') ? 'using the existing dist/' : 'no dist/ yet: run npm run build in a full install'}`);
  process.exit(0);
}
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
