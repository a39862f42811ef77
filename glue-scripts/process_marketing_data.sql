-- PMD: the marketing metrics, typed and renamed by the reader. Reads the view `marketing`.
SELECT
  date,
  new_visitors_seo,
  new_visitors_cpc,
  new_visitors_social_media,
  return_visitors,
  twitter_mentions,
  twitter_follower_adds,
  twitter_followers_cumulative,
  mailing_list_adds,
  mailing_list_cumulative,
  website_pageviews,
  website_visits,
  website_unique_visits,
  mobile_uniques,
  tablet_uniques,
  desktop_uniques,
  free_sign_up,
  paid_conversion,
  events
FROM marketing
ORDER BY date
