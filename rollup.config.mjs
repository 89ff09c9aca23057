// Builds the library twice from ts/index.ts: ESM (dist/index.mjs) and
// CommonJS (dist/index.cjs), plus one bundled declaration file for each.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const deps = Object.keys(pkg.dependencies ?? {});
const external = (id) =>
  id.startsWith('node:') || builtinModules.includes(id) || deps.some((d) => id === d || id.startsWith(`${d}/`));

const tsPlugin = () =>
  typescript({
    tsconfig: './tsconfig.json',
    compilerOptions: {
      module: 'esnext',
      moduleResolution: 'bundler',
      declaration: false,
      sourceMap: true,
      outDir: 'dist',
      rootDir: 'ts',
    },
  });

export default [
  {
    input: existsSync('ts/cli.ts') ? { index: 'ts/index.ts', cli: 'ts/cli.ts' } : { index: 'ts/index.ts' },
    external,
    plugins: [tsPlugin()],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'chunks/[name]-[hash].mjs', sourcemap: true },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', sourcemap: true, exports: 'named' },
    ],
  },
  {
    input: 'ts/index.ts',
    external,
    plugins: [dts({ tsconfig: './tsconfig.json' })],
    output: [{ file: 'dist/index.d.ts', format: 'es' }, { file: 'dist/index.d.cts', format: 'es' }],
  },
];
