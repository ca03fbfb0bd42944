import { configure } from '@testing-library/react';

// `waitFor` and `findBy…` give up after 1 s by default: a render on a machine busy with other
// test files can take longer than that, and these waits end as soon as what they wait for is there.
configure({ asyncUtilTimeout: 10_000 });
