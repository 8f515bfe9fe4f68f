# bench/chart.gp: each workload's ratio against its target.
#   gnuplot -e "data='chart.dat'; out='latest.png'; subtitle='...'" bench/chart.gp
# data columns: sort, label (id and target), ratio, target, pass (1/0).
set terminal pngcairo size 1100,560 font ",10"
set output out
stats data using ($3 > 0 ? $3 : NaN) nooutput
stats data using 4 prefix "T" nooutput
set title "acl ÷ baseline against its target (W8: figure ÷ limit)\n".subtitle
set logscale y
set yrange [(STATS_min < T_min ? STATS_min : T_min) / 3 : (STATS_max > T_max ? STATS_max : T_max) * 3]
set ylabel "ratio (log scale)"
set style fill solid 0.75 border -1
set boxwidth 0.6
set xtics rotate by -30 nomirror
set grid ytics
set key top right
set offsets 0.6, 0.6, 0, 0
plot data using 1:($3 > 0 ? $3 : NaN):($5 > 0 ? 0x2e8b57 : 0xcd3333):xtic(2) with boxes lc rgb variable \
         title "acl ÷ baseline (green: target met, red: missed)", \
     data using 1:4:(0.4) with xerrorbars lc rgb "black" lw 3 pt 0 title "target", \
     data using 1:($3 > 0 ? $3 : NaN):(sprintf("%.3g", $3)) with labels offset 0,0.7 notitle
