using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// LinkedIn: <c>POST /rest/posts</c> (versioned API) with article content; the post id is the <c>x-restli-id</c>
/// header. The commentary is "little text": its reserved characters are escaped, or LinkedIn silently cuts
/// the post at the first one. A sunset <c>LinkedIn-Version</c> answers 426, reported with the setting to change.
/// </summary>
internal sealed class LinkedInAdapter(IHttpClientFactory clients, TimeProvider time) : IShareAdapter
{
    /// <summary>A version LinkedIn supports (each is supported for at least a year after its month): bump it yearly.</summary>
    public const string DefaultVersion = "202606";

    private const int MaxCommentary = 3000;

    public string Network => Networks.LinkedIn;

    public AfterUnknown AfterUnknown => AfterUnknown.Unconfirmed;

    public Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        // The limit applies to what is sent, escapes included.
        var commentary = ShareText.LittleText(ShareText.Fit(request.Text.Trim(), MaxCommentary, s => ShareText.LittleText(s).Length));
        return Task.FromResult(ComposedPost.Fits(commentary, commentary.Length, MaxCommentary));
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var version = request.Account.ApiVersion ?? DefaultVersion;
        var body = new
        {
            author = request.Account.AccountId,
            commentary = (await ComposeAsync(request, cancellationToken)).Text,
            visibility = "PUBLIC",
            distribution = new { feedDistribution = "MAIN_FEED", targetEntities = Array.Empty<object>(), thirdPartyDistributionChannels = Array.Empty<object>() },
            content = new { article = new { source = request.Link, title = request.Article.Headline, description = request.Article.Summary ?? "" } },
            lifecycleState = "PUBLISHED",
            isReshareDisabledByAuthor = false,
        };
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/rest/posts")) { Content = JsonContent.Create(body) };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Account.AccessToken);
        message.Headers.Add("LinkedIn-Version", version);
        message.Headers.Add("X-Restli-Protocol-Version", "2.0.0");
        return await HttpOutcomes.ExchangeAsync(http, message, (response, text) =>
        {
            if (response.IsSuccessStatusCode && response.Headers.TryGetValues("x-restli-id", out var ids))
            {
                var id = ids.First();
                return PostOutcome.Posted(id, $"https://www.linkedin.com/feed/update/{id}/");
            }

            if (response.IsSuccessStatusCode)
            {
                // Accepted, but without the id: the post exists.
                return new PostOutcome(OutcomeKind.AlreadyPosted, $"{(int)response.StatusCode} without an x-restli-id header");
            }

            return (int)response.StatusCode switch
            {
                426 => PostOutcome.Rejected($"LinkedIn no longer serves API version {version} (426 {HttpOutcomes.Clip(text)}): set {request.Setting}:ApiVersion to a supported YYYYMM version, such as {DefaultVersion} or newer"),
                422 when text.Contains("duplicate", StringComparison.OrdinalIgnoreCase) => new PostOutcome(OutcomeKind.AlreadyPosted, "LinkedIn reports a duplicate post"),
                _ => HttpOutcomes.FromStatus(response, text, HttpOutcomes.RetryAfter(response) ?? HttpOutcomes.UntilReset(response, "x-ratelimit-reset", time.GetUtcNow())),
            };
        }, cancellationToken);
    }
}
