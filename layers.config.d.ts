/** Types of layers.config.js (plain JS so eslint.config.js can load it). */
export declare const layers: string[][];
export declare const testkit: string;
export declare const consumers: string[];
export declare const entryOnly: string[];
export declare const modules: string[];
export declare function forbiddenFor(from: string): string[];
