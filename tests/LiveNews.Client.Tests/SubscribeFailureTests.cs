using Microsoft.AspNetCore.SignalR;

namespace LiveNews.Client.Tests;

public sealed class SubscribeFailureTests
{
    private const string WirePrefix = "An unexpected error occurred invoking 'Subscribe' on the server. HubException: ";

    [Theory]
    [InlineData("Subscribing to 'live' failed: the store is unavailable. Try again.", false)]
    [InlineData("Topic 'newsroom' is for editors only.", true)]
    [InlineData("A call repeats topic 'latest'.", true)]
    public void Classify_ServerHubException_RetriesOnlyUnavailable(string message, bool refused)
    {
        Assert.Equal((refused, message), SubscribeFailure.Classify(new HubException(WirePrefix + message)));
    }

    [Fact]
    public void Classify_ConnectionDroppedMidCall_Retried()
    {
        Assert.False(SubscribeFailure.Classify(new IOException("Invocation canceled due to the underlying connection being closed.")).Refused);
    }

    [Theory]
    [InlineData(0, 0.0, 500)]
    [InlineData(0, 1.0, 1000)]
    [InlineData(3, 1.0, 8000)]
    [InlineData(50, 1.0, 30_000)]
    [InlineData(50, 0.0, 15_000)]
    public void Backoff_Attempt_GrowsToThirtySecondsWithJitter(int attempt, double random, int milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), SubscribeFailure.Backoff(attempt, random));
    }

    [Theory]
    [InlineData(0, 0.0, 0)]
    [InlineData(0, 1.0, 500)]
    [InlineData(1, 0.0, 500)]
    [InlineData(1, 1.0, 1000)]
    [InlineData(2, 1.0, 2000)]
    [InlineData(9, 0.0, 2500)]
    [InlineData(9, 1.0, 5000)]
    public void ReconnectDelay_Attempt_WithinHalfASecondThenAboutOneTwoAndFiveSecondsWithJitter(int attempt, double random, int milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), SubscribeFailure.ReconnectDelay(attempt, random));
    }
}
