using TaskLeak.Xunit;
using Xunit;
using Xunit.v3;

// Every test in this assembly is checked; classes and tests below refine it.
[assembly: DetectTaskLeaks]

// After the last test: every leak proven in the run, as diagnostic messages, on stderr and, when asked, as JSON.
[assembly: TestPipelineStartup(typeof(TaskLeakPipelineStartup))]

// A fixture every test class shares, started before the first test: what it leaks belongs to no test.
[assembly: AssemblyFixture(typeof(TaskLeak.Xunit.Samples.AssemblyWork))]

// The three ParallelSiblings classes (three collections) must run at once; leave room for others besides.
[assembly: Parallelization(MaxThreads = 4)]
