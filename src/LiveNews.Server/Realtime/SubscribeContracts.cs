using LiveNews.Server.Bus;

namespace LiveNews.Server.Realtime;

/// <summary>A topic to subscribe to; with <c>epoch</c> and <c>seq</c>, the position to resume after.</summary>
public sealed record SubscribeRequest(string Topic, string? Epoch = null, long? Seq = null);

/// <summary>
/// <c>recovered</c> true: <c>events</c> are exactly those after the asked position. False: start over from
/// <c>snapshot</c>, which reflects the topic at <c>seq</c>.
/// </summary>
internal sealed record SubscribeResult(string Topic, string Epoch, long Seq, bool Recovered, RawJson? Snapshot, IReadOnlyList<RawJson> Events);
