// Types of bin/cli-build.js, for the TypeScript that imports it (bench/cli.ts).
export declare const projectRoot: URL;
export declare const buildDir: URL;
export declare const manifestName: string;
export declare const entryPoints: { main: string; runtime: string };
export declare function checkBuild(dir?: URL, env?: NodeJS.ProcessEnv): { fresh: true } | { fresh: false; reason: string };
