// The report format names, in --help order, without loading the reporters (the CLI lists them in its help
// before any scan). report/index.ts maps each to its reporter; a test checks the two lists agree.

export const FORMAT_NAMES = ['human', 'json', 'sarif', 'markdown', 'github', 'html'] as const;
