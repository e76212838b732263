using LiveNews.Server.Realtime;
using Microsoft.Extensions.Time.Testing;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>A connection's hub calls per minute: as many at once, then one each 60 s ÷ that, from the clock.</summary>
public sealed class CallAllowanceTests
{
    [Fact]
    public void TryTake_PerMinuteAtOnce_ThenOneMoreEachShare()
    {
        var time = new FakeTimeProvider();
        var calls = new CallAllowance(4, time);

        for (var i = 0; i < 4; i++)
        {
            Assert.True(calls.TryTake(out _));
        }

        Assert.False(calls.TryTake(out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(15), retryAfter);

        time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(calls.TryTake(out retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(calls.TryTake(out _));
        Assert.False(calls.TryTake(out _));
    }

    [Fact]
    public void TryTake_AfterALongQuiet_HoldsNoMoreThanPerMinute()
    {
        var time = new FakeTimeProvider();
        var calls = new CallAllowance(3, time);
        Assert.True(calls.TryTake(out _));

        time.Advance(TimeSpan.FromHours(1));

        var taken = 0;
        for (var i = 0; i < 10; i++)
        {
            taken += calls.TryTake(out _) ? 1 : 0;
        }

        Assert.Equal(3, taken);
    }
}
