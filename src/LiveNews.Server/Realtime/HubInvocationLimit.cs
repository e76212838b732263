using LiveNews.Server.Operations;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Realtime;

/// <summary>Limits hub invocations per connection; a refused call fails with a hub error, the connection stays.</summary>
internal sealed class HubInvocationLimit(HubConnections connections, IOptions<RateLimitOptions> options, TimeProvider time) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (connections.Find(invocationContext.Context.ConnectionId) is { } open)
        {
            var calls = open.Calls ??= new CallAllowance(options.Value.HubInvocationsPerMinute, time);
            if (!calls.TryTake(out var retryAfter))
            {
                // Says "unavailable": both clients retry such a call with backoff (any other refusal drops the topic).
                throw new HubException($"Too many calls on this connection: {LiveHub.Unavailable} for now, retry after {Refusal.RetryAfterSeconds(retryAfter)} s.");
            }
        }

        return await next(invocationContext);
    }
}

/// <summary>
/// A connection's hub calls: <c>perMinute</c> at once, then one more each 60 s ÷ <c>perMinute</c>, read from
/// the clock when a call comes (the generic cell rate algorithm: a token bucket kept as the one moment it is
/// full again), so no timer per connection. It was a <c>SlidingWindowRateLimiter</c> per connection, whose
/// state and replenishment timer held ~0.4 KB per reader and woke each reader's timer every 10 s.
/// </summary>
internal sealed class CallAllowance(int perMinute, TimeProvider time)
{
    private readonly TimeSpan _each = TimeSpan.FromMinutes(1) / perMinute;
    private readonly long _start = time.GetTimestamp();

    // When the allowance is whole again, from _start: each call taken moves it _each later.
    private TimeSpan _wholeAt;

    /// <summary>Takes a call; when none is left, false with how long until one is.</summary>
    public bool TryTake(out TimeSpan retryAfter)
    {
        // Locked on itself, which only its connection's entry holds: no lock object per reader.
        lock (this)
        {
            var now = time.GetElapsedTime(_start);
            var wholeAt = _wholeAt > now ? _wholeAt : now;
            retryAfter = wholeAt + _each - now - (_each * perMinute);
            if (retryAfter > TimeSpan.Zero)
            {
                return false;
            }

            _wholeAt = wholeAt + _each;
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }
}
