using LiveNews.Server.Bus;
using LiveNews.Server.Realtime;

namespace LiveNews.Server.Tests.Realtime;

/// <summary>The SSE id: every topic's position, the same text the JS client's <c>streamId</c> writes.</summary>
public sealed class StreamPositionsTests
{
    private static readonly Topic[] Topics = [Topic.Breaking, Topic.Live, Topic.Article("storm")];

    [Fact]
    public void Id_Positions_MatchTheBrowserClientsFormat()
    {
        var positions = new StreamPositions(Topics);
        positions.Set(0, "ab12", 7);
        positions.Set(2, "", 0);

        // clients/js/test/livenews.test.js asserts the same text for the same positions.
        Assert.Equal("0d28cb0f_ab12.7__.0", positions.Id());
    }

    [Fact]
    public void TryResume_OwnId_RestoresEveryPosition()
    {
        var written = new StreamPositions(Topics);
        written.Set(0, "ab12", 7);
        written.Set(1, "cd34", 42);

        var read = new StreamPositions(Topics);
        Assert.True(read.TryResume(written.Id()));
        Assert.Equal(("ab12", 7L), read.Of(0));
        Assert.Equal(("cd34", 42L), read.Of(1));
        Assert.Null(read.Of(2));
    }

    [Theory]
    [InlineData("0d28cb0f_ab12.7_")]             // a part too few
    [InlineData("0d28cb0e_ab12.7__.0")]          // the tag of other topics
    [InlineData("0d28cb0f_AB12.7__.0")]          // an epoch is lowercase hex
    [InlineData("0d28cb0f_ab12.-7__.0")]         // a seq is a plain number
    [InlineData("0d28cb0f_ab12__.0")]            // no seq
    [InlineData("0d28cb0f_ab12.99999999999999999999__.0")]
    public void TryResume_ForeignOrBrokenId_NoPosition(string id)
    {
        var positions = new StreamPositions(Topics);
        Assert.False(positions.TryResume(id));
        Assert.All(Enumerable.Range(0, Topics.Length), i => Assert.Null(positions.Of(i)));
    }
}
