using System.ComponentModel.DataAnnotations;

namespace LiveNews.Server.Realtime;

/// <summary>Limits of the live hub. Bound from the <c>Realtime</c> section.</summary>
public sealed class RealtimeOptions
{
    public const string SectionName = "Realtime";

    [Range(1, 1000, ErrorMessage = "Realtime:MaxTopicsPerConnection must be between 1 and 1000.")]
    public int MaxTopicsPerConnection { get; set; } = 32;

    /// <summary>Largest message a client may send to the hub; larger ones close the connection.</summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "Realtime:MaximumReceiveMessageSize must be between 1024 and 1048576.")]
    public int MaximumReceiveMessageSize { get; set; } = 32 * 1024;

    /// <summary>
    /// Bytes of pushes that may wait for one connection that does not read them fast enough; over it the
    /// connection is closed, and the client reconnects and resumes from its position.
    /// </summary>
    [Range(16 * 1024, 256 * 1024 * 1024, ErrorMessage = "Realtime:MaxBufferedBytesPerConnection must be between 16384 and 268435456.")]
    public long MaxBufferedBytesPerConnection { get; set; } = 1024 * 1024;

    /// <summary>
    /// How often each node writes its viewer counts and pushes <c>viewers</c> to readers whose topic's count
    /// changed, and to readers who arrived since the last interval. A dead node's viewers drop out within three intervals.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.05", "00:05:00", ErrorMessage = "Realtime:ViewerCountInterval must be between 00:00:00.05 and 00:05:00.")]
    public TimeSpan ViewerCountInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often an idle Server-Sent Events stream sends a comment, so proxies keep it open.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Realtime:SseHeartbeatInterval must be between 00:00:00.010 and 00:10:00.")]
    public TimeSpan SseHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a node stopping (SIGTERM) waits for the editor writes and share posts in flight before it
    /// closes its hub connections (telling clients to reconnect elsewhere) and stops. The host's shutdown
    /// timeout is set above it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "Realtime:DrainTimeout must be between 00:00:00 and 00:05:00.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
