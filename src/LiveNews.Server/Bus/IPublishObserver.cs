namespace LiveNews.Server.Bus;

/// <summary>
/// Told on the publishing node around a change of a topic: for work that follows a change, such as announcing
/// a feed. Features implement it; the bus knows none.
/// </summary>
internal interface IPublishObserver
{
    /// <summary>
    /// Before a publish is tried (it may then be refused, or change nothing): work queued here is not lost when
    /// the node dies between the change and <see cref="ChangedAsync"/>, so queue it both times, idempotently.
    /// Must not throw; it delays the editor's answer, so it does one quick thing at most.
    /// </summary>
    Task ChangingAsync(Topic topic);

    /// <summary>Once the topic changed (a publish, or the replay of one), after Redis holds it. Must not throw, as above.</summary>
    Task ChangedAsync(Topic topic);
}
