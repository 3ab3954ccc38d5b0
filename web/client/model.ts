// The page's model of a run lives in web/shared/model.ts: the server's lights API folds runs with
// the same code (one lights rule for the page and the API, sim and live alike).
export * from '../shared/model.ts';
