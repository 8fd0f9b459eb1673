using NUnit.Framework;
using TaskLeak.NUnit;

// Every test in this assembly is checked; fixtures and tests below refine it.
[assembly: DetectTaskLeaks]

// ParallelSiblings needs its three tests running at once; leave room for other fixtures besides.
[assembly: LevelOfParallelism(4)]
