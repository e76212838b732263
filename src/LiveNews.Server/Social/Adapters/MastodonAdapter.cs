using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using LiveNews.Server.Feeds;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Mastodon: <c>POST /api/v1/statuses</c> with an <c>Idempotency-Key</c> derived from the job, so a retry
/// after an unknown outcome returns the first status, for as long as the server keeps the key (one hour).
/// Length limits come from the instance.
/// </summary>
internal sealed class MastodonAdapter(IHttpClientFactory clients, TimeProvider time, IOptions<FeedOptions> feeds) : IShareAdapter
{
    /// <summary>Mastodon keeps an idempotency key for one hour (five minutes spared); past that, resending could post twice.</summary>
    internal static readonly TimeSpan KeyLifetime = TimeSpan.FromMinutes(55);

    private readonly ConcurrentDictionary<string, (int MaxCharacters, int UrlCost)> _limits = new(StringComparer.Ordinal);

    public string Network => Networks.Mastodon;

    /// <summary>
    /// Mastodon checks the Idempotency-Key when a request arrives but records it only once the status is made,
    /// with no lock between: a resend while the first request still runs there (a slow instance, a proxy that gave
    /// up at its 60 s) makes a second status. So a resend waits until the first has surely ended.
    /// </summary>
    public AfterUnknown AfterUnknown => AfterUnknown.ResendOnceSettled;

    public async Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var (max, urlCost) = await LimitsAsync(http, request, cancellationToken);
        var status = ShareText.WithLink(request.Text, request.Link, max, s => s.Length, urlCost);
        var length = status.Length - request.Link.Length + urlCost;
        return ComposedPost.Fits(status, length, max);
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var status = (await ComposeAsync(request, cancellationToken)).Text;

        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/api/v1/statuses"))
        {
            // The status's language is an ISO 639 code: the newsroom's tag without its region (pt-BR: pt).
            Content = JsonContent.Create(new { status, visibility = "public", language = feeds.Value.Language.Split('-')[0].ToLowerInvariant() }),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Account.AccessToken);
        message.Headers.Add("Idempotency-Key", request.Job.IdempotencyKey);
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                return PostOutcome.Posted(json.RootElement.GetProperty("id").GetString()!, json.RootElement.TryGetProperty("url", out var url) ? url.GetString() : null);
            }

            return (int)response.StatusCode == 422
                ? PostOutcome.Rejected($"422 {HttpOutcomes.Clip(body)}")
                : HttpOutcomes.FromStatus(response, body, HttpOutcomes.UntilReset(response, "X-RateLimit-Reset", time.GetUtcNow()));
        }, cancellationToken);
    }

    /// <summary>Resending with the job's key returns the first status while Mastodon still holds the key.</summary>
    public Task<ConfirmResult> ConfirmAsync(ShareRequest request, DateTimeOffset since, CancellationToken cancellationToken) =>
        Task.FromResult(time.GetUtcNow() - since < KeyLifetime
            ? ConfirmResult.SafeToSend("Mastodon still holds the job's Idempotency-Key")
            : ConfirmResult.CannotTell($"the attempt was at {Bus.UtcTimestampConverter.ToText(since)}, and Mastodon keeps an Idempotency-Key for one hour only"));

    private async Task<(int, int)> LimitsAsync(HttpClient http, ShareRequest request, CancellationToken cancellationToken)
    {
        if (_limits.TryGetValue(request.Account.Name, out var known))
        {
            return known;
        }

        var limits = (500, ShareText.UrlWeight);
        try
        {
            using var response = await http.GetAsync(request.Endpoint(Network, "/api/v2/instance"), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                var statuses = json.RootElement.GetProperty("configuration").GetProperty("statuses");
                limits = (statuses.GetProperty("max_characters").GetInt32(), statuses.GetProperty("characters_reserved_per_url").GetInt32());
                _limits[request.Account.Name] = limits;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // The documented defaults are safe; ask again next time.
        }

        return limits;
    }
}
