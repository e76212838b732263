using System.Threading.Channels;
using LiveNews.Client;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>Collects what a client subscription delivered, and checks the exactly-once, in-order contract.</summary>
public sealed class ChannelReaderOf(ChannelReader<TopicUpdate> reader)
{
    public List<TopicUpdate> Updates { get; } = [];

    public IEnumerable<TopicEvent> Events => Updates.OfType<TopicEvent>();

    /// <summary>Reads until <paramref name="count"/> events were delivered (after the snapshot).</summary>
    public async Task<List<TopicEvent>> EventsUntilAsync(int count, int seconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (Events.Count() < count)
            {
                Updates.Add(await reader.ReadAsync(timeout.Token));
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Got {Events.Count()} of {count} events in {seconds}s; last seq {Events.LastOrDefault()?.Seq}.");
        }

        return [.. Events];
    }

    /// <summary>Reads until an event or a snapshot holds <paramref name="text"/> (a headline, say).</summary>
    public async Task ReadUntilShownAsync(string text, int seconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (!Updates.Any(update => Shows(update, text)))
            {
                Updates.Add(await reader.ReadAsync(timeout.Token));
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Nothing delivered in {seconds}s showed \"{text}\"; last seq {(Updates.Count == 0 ? 0 : Updates[^1].Seq)}.");
        }
    }

    public static bool Shows(TopicUpdate update, string text) => update switch
    {
        TopicEvent e => e.Data.GetRawText().Contains(text, StringComparison.Ordinal),
        TopicSnapshot s => s.State.GetRawText().Contains(text, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>Reads until an event with <paramref name="seq"/> was delivered.</summary>
    public async Task ReadUntilSeqAsync(long seq, int seconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (Updates.Count == 0 || Updates[^1].Seq < seq)
            {
                Updates.Add(await reader.ReadAsync(timeout.Token));
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Reached seq {(Updates.Count == 0 ? 0 : Updates[^1].Seq)} of {seq} in {seconds}s.");
        }
    }
}
