using NUnit.Framework;
using TaskLeak.NUnit;

// Every test in this assembly is checked; fixtures and tests below refine it.
[assembly: DetectTaskLeaks]

// After the last test: every leak proven in the run, to the progress output and, when asked, to a JSON file.
[assembly: TaskLeakRunReport]

// ParallelSiblings needs its three tests running at once; leave room for other fixtures besides.
[assembly: LevelOfParallelism(4)]
