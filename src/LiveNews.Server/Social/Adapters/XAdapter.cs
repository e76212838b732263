using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// X: <c>POST /2/tweets</c> with an OAuth 2.0 user token (refreshed before it expires and on a 401), 280
/// characters weighted as twitter-text counts them. X has no idempotency key: its duplicate-content refusal
/// is read as "already posted", and an unknown outcome is never repeated.
/// </summary>
internal sealed class XAdapter(IHttpClientFactory clients, OAuthTokens tokens, TimeProvider time) : IShareAdapter
{
    private const int MaxWeighted = 280;

    public string Network => Networks.X;

    public AfterUnknown AfterUnknown => AfterUnknown.Unconfirmed;

    public Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var text = ShareText.WithLink(request.Text, request.Link, MaxWeighted, ShareText.XWeighted, linkWeight: ShareText.UrlWeight);
        return Task.FromResult(ComposedPost.Fits(text, ShareText.XWeighted(text), MaxWeighted));
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var text = (await ComposeAsync(request, cancellationToken)).Text;
        var (token, failure) = await tokens.AccessTokenAsync(http, request, rejected: null, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var outcome = await CreateAsync(http, request, text, token!, cancellationToken);
        if (outcome.Kind == OutcomeKind.Auth && OAuthTokens.Refreshes(request.Account) && outcome.Reason!.StartsWith("401", StringComparison.Ordinal))
        {
            // Expired early or revoked: a 401 posted nothing, so refresh once and send again.
            (token, failure) = await tokens.AccessTokenAsync(http, request, rejected: token, cancellationToken);
            outcome = failure ?? await CreateAsync(http, request, text, token!, cancellationToken);
        }

        return outcome;
    }

    private async Task<PostOutcome> CreateAsync(HttpClient http, ShareRequest request, string text, string token, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/2/tweets")) { Content = JsonContent.Create(new { text }) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                var id = json.RootElement.GetProperty("data").GetProperty("id").GetString()!;
                return PostOutcome.Posted(id, $"https://x.com/i/web/status/{id}");
            }

            if (response.StatusCode == HttpStatusCode.Forbidden && body.Contains("duplicate content", StringComparison.OrdinalIgnoreCase))
            {
                return new PostOutcome(OutcomeKind.AlreadyPosted, "X reports this text as already posted");
            }

            return HttpOutcomes.FromStatus(response, body, UntilReset(response, time.GetUtcNow()));
        }, cancellationToken);
    }

    // X reports its 15-minute window (x-rate-limit-*) and, for posts, 24-hour caps per user and per app
    // (x-user-limit-24hour-*, x-app-limit-24hour-*): a refusal waits for the latest reset of a window used up.
    // Null (the default backoff) when no reset lies ahead.
    private static TimeSpan? UntilReset(HttpResponseMessage response, DateTimeOffset now)
    {
        TimeSpan? wait = null;
        foreach (var window in (string[])["x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"])
        {
            if (response.Headers.TryGetValues($"{window}-remaining", out var remaining) && remaining.First() != "0")
            {
                continue;
            }

            if (HttpOutcomes.UntilReset(response, $"{window}-reset", now) is { } until && until > (wait ?? TimeSpan.Zero))
            {
                wait = until;
            }
        }

        return wait;
    }
}
