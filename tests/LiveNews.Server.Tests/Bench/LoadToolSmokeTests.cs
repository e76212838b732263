namespace LiveNews.Server.Tests.Bench;

/// <summary>The load benchmark in a tiny mode, so it cannot rot: real processes, zero loss asserted. Not a timed test.</summary>
[Collection("faults")]
public sealed class LoadToolSmokeTests
{
    [Fact]
    public async Task LoadTool_SmokeRun_DeliversEveryEventInOrderOnce()
    {
        Assert.True(await LiveNews.Bench.Bench.SmokeAsync(), "the smoke run lost, skipped or repeated events (see its output line)");
    }
}
