using System.Globalization;
using System.Net;

namespace LiveNews.Server.Social.Adapters;

/// <summary>Classifies HTTP answers and failures the same way for every network.</summary>
internal static class HttpOutcomes
{
    /// <summary>Sends, turning transport failures into outcomes: refused before sending is transient, anything after may have posted.</summary>
    public static async Task<(HttpResponseMessage? Response, PostOutcome? Failure)> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return (await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken), null);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            return (null, PostOutcome.Transient($"could not connect ({ex.HttpRequestError})"));
        }
        catch (HttpRequestException ex)
        {
            return (null, PostOutcome.Unknown($"the connection failed after the request was sent ({ex.HttpRequestError})"));
        }
    }

    /// <summary>Sends, then hands the answer and its body to <paramref name="read"/>; transport failures become outcomes.</summary>
    public static async Task<PostOutcome> ExchangeAsync(HttpClient http, HttpRequestMessage request, Func<HttpResponseMessage, string, PostOutcome> read, CancellationToken cancellationToken)
    {
        var (response, failure) = await SendAsync(http, request, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            return read(response!, await response!.Content.ReadAsStringAsync(cancellationToken));
        }
    }

    /// <summary>
    /// The default reading of a status code, for answers a network has no finer words for. A 5xx came after the
    /// request was sent (a proxy's 502 or 504 may hide a post that was made), so it is an unknown outcome: only
    /// networks that can tell (idempotency key, record key, container status) send again.
    /// </summary>
    public static PostOutcome FromStatus(HttpResponseMessage response, string body, TimeSpan? retryAfter = null)
    {
        var status = (int)response.StatusCode;
        var reason = $"{status} {Clip(body)}";
        return response.StatusCode switch
        {
            HttpStatusCode.TooManyRequests => PostOutcome.RateLimited(reason, retryAfter ?? RetryAfter(response)),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => PostOutcome.Auth(reason),
            HttpStatusCode.RequestTimeout => PostOutcome.Unknown(reason),
            _ when status >= 500 => PostOutcome.Unknown(reason) with { RetryAfter = RetryAfter(response) },
            _ => PostOutcome.Rejected(reason),
        };
    }

    /// <summary><c>Retry-After</c> as seconds or an HTTP date.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? Positive(date - DateTimeOffset.UtcNow) : null;
    }

    /// <summary>A reset time given as Unix epoch seconds (X, Bluesky) or an ISO 8601 time (Mastodon).</summary>
    public static TimeSpan? UntilReset(HttpResponseMessage response, string header, DateTimeOffset now)
    {
        if (!response.Headers.TryGetValues(header, out var values))
        {
            return null;
        }

        var value = values.First();
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epochSeconds))
        {
            return Positive(DateTimeOffset.FromUnixTimeSeconds(epochSeconds) - now);
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? Positive(at - now) : null;
    }

    public static string Clip(string body) => body.Length > 300 ? body[..300] + "…" : body;

    private static TimeSpan Positive(TimeSpan span) => span < TimeSpan.Zero ? TimeSpan.Zero : span;
}
